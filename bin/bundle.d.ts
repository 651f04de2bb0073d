export declare const PROJECT_ROOT_URL: URL;
export declare const BUNDLE_ENTRY_URL: URL;
export declare function bundleIsCurrent(): boolean;
