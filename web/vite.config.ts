import { fileURLToPath } from 'node:url';
import preact from '@preact/preset-vite';
import { defineConfig } from 'vite';

// Two pages from one build (docs/WEB.md): web/dist/agent/index.html (served by the agent at /)
// and web/dist/hub/index.html (served by the hub at /dashboard), sharing web/dist/assets/.
// Everything is bundled: the pages load nothing from elsewhere.
const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

export default defineConfig({
  root: here('.'),
  base: '/',
  plugins: [preact()],
  build: {
    outDir: here('dist'),
    emptyOutDir: true,
    assetsInlineLimit: 0,
    rolldownOptions: {
      input: { agent: here('agent/index.html'), hub: here('hub/index.html') },
    },
  },
});
