// Banner of the Node-mode runtime bundle (harness/setup/build-node-runtime.js): the few Deno globals
// apps-engine 1.62's deno-runtime uses, on Node 22. Deno.args, Deno.pid, Deno.exit, Deno.stdin.readable,
// Deno.stdout/stderr (write -> bytes written, writeSync), Deno.open(path) -> { readable, [Symbol.dispose] };
// plus globalThis.addEventListener('unhandledrejection' | 'error') and ErrorEvent, which Node lacks.
// __APPS_ENGINE_DIR__ is replaced by the build with the apps-engine package folder.
(() => {
    const fs = require('node:fs');
    const { Readable } = require('node:stream');

    const writer = (stream, fd) => ({
        write: (data) => new Promise((resolve, reject) => stream.write(data, (err) => (err ? reject(err) : resolve(data.length)))),
        writeSync: (data) => fs.writeSync(fd, data),
    });

    if (typeof globalThis.ErrorEvent === 'undefined') {
        globalThis.ErrorEvent = class ErrorEvent extends Event {
            constructor(type, init = {}) {
                super(type, init);
                this.error = init.error;
                this.message = init.message ?? init.error?.message ?? '';
                this.filename = init.filename ?? '';
                this.lineno = init.lineno ?? 0;
                this.colno = init.colno ?? 0;
            }
        };
    }

    if (typeof globalThis.addEventListener === 'undefined') {
        globalThis.addEventListener = (type, listener) => {
            if (type === 'unhandledrejection') {
                process.on('unhandledRejection', (reason) => listener({ type, reason, preventDefault() {} }));
            } else if (type === 'error') {
                process.on('uncaughtException', (error) => {
                    const frame = /\((.*):(\d+):(\d+)\)/.exec(String(error?.stack).split('\n')[1] || '') || [];
                    listener({
                        type,
                        error,
                        message: error?.message,
                        filename: frame[1],
                        lineno: Number(frame[2]),
                        colno: Number(frame[3]),
                        preventDefault() {},
                    });
                });
            }
        };
    }

    globalThis.Deno = {
        args: process.argv.slice(2),
        pid: process.pid,
        exit: (code) => process.exit(code),
        stdin: { readable: process.stdin },
        stdout: writer(process.stdout, 1),
        stderr: writer(process.stderr, 2),
        async open(file) {
            const handle = await fs.promises.open(file, 'r');
            return {
                readable: Readable.toWeb(handle.createReadStream({ autoClose: false })),
                close: () => handle.close(),
                [Symbol.dispose]() {
                    handle.close().catch(() => undefined);
                },
            };
        },
    };

    // Rocket.Chat's node-runtime hands the app Node's own `require` of its package; here a require
    // anchored at the apps-engine package (so 'uuid' is apps-engine 1.62's own dependency).
    globalThis.__nodeRequire = require('node:module').createRequire(`${__APPS_ENGINE_DIR__}/package.json`);
})();
