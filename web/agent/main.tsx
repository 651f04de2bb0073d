import { render } from 'preact';
import '../shared/style.css';
import { App } from './App.tsx';

render(<App />, document.getElementById('app')!);
