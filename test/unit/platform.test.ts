/**
 * Which runtime binary packages the engine rig uses on each platform (harness/setup/platform.js): a
 * developer on a platform without one gets a reason naming the platform, never a silent skip.
 */
// eslint-disable-next-line @typescript-eslint/no-var-requires
const platform = require('../../harness/setup/platform.js') as {
    DENO_PACKAGES: Record<string, string>;
    NODE_PACKAGES: Record<string, string>;
    deno(p?: string, a?: string): { pkg?: string; binary?: string; reason?: string };
    nodeRuntime(p?: string, a?: string): { pkg?: string; binary?: string; reason?: string };
};
// eslint-disable-next-line @typescript-eslint/no-var-requires
const pkg = require('../../package.json') as { optionalDependencies: Record<string, string>; devDependencies: Record<string, string> };

describe('runtime binaries per platform', () => {
    it('every supported platform has a Deno package, all of one 2.x version in optionalDependencies', () => {
        expect(Object.keys(platform.DENO_PACKAGES).sort()).toEqual(['darwin-arm64', 'darwin-x64', 'linux-arm64', 'linux-x64']);
        const versions = Object.values(platform.DENO_PACKAGES).map((name) => pkg.optionalDependencies[name]);
        expect(new Set(versions).size).toBe(1);
        expect(versions[0]).toMatch(/^2\./);
        // Not a devDependency: npm would then fail on every other platform.
        expect(Object.keys(pkg.devDependencies).filter((name) => /^@deno\/|^node-(linux|darwin)/.test(name))).toEqual([]);
    });

    it('the Node 22 packages are optional and Node 22', () => {
        for (const name of Object.values(platform.NODE_PACKAGES)) {
            expect(pkg.optionalDependencies[name]).toMatch(/^22\./);
        }
    });

    it('this machine resolves its own Deno binary', () => {
        const found = platform.deno();
        expect(found.reason).toBeUndefined();
        expect(found.binary).toMatch(/deno$/);
    });

    it('a platform without a package gets a reason naming it, not a binary', () => {
        expect(platform.deno('win32', 'x64')).toEqual({ reason: expect.stringContaining('win32-x64') });
        expect(platform.deno('win32', 'x64').reason).toContain('WSL');
        expect(platform.nodeRuntime('darwin', 'arm64')).toEqual({ reason: expect.stringContaining('darwin-arm64') });
    });
});
