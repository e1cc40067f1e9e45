import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

/** A loopback HTTP server that serves fixed files, standing in for RapidPro's media host. */
export async function startFileServer(
    files: Record<string, { contentType: string; body: Buffer }>,
): Promise<{ url: string; hits: string[]; close(): Promise<void> }> {
    const hits: string[] = [];
    const server = http.createServer((req, res) => {
        hits.push(req.url || '');
        const file = files[req.url || ''];
        if (!file) {
            res.writeHead(404, { 'content-type': 'text/plain' });
            res.end('not found');
            return;
        }
        res.writeHead(200, { 'content-type': file.contentType, 'content-length': String(file.body.length) });
        res.end(file.body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    return {
        url: `http://127.0.0.1:${port}`,
        hits,
        close: () =>
            new Promise<void>((resolve) => {
                (server as http.Server & { closeAllConnections(): void }).closeAllConnections();
                server.close(() => resolve());
            }),
    };
}
