/**
 * `npm start`: the local sandbox of RapidPro Bridge.
 *
 * Packages the app like `npm run package` (skipped when dist/ already has a zip of the current
 * sources), runs the zip in the real Apps-Engine next to the in-memory Rocket.Chat and the RapidPro
 * simulator, serves the app's endpoints on http://127.0.0.1:<PORT>/api/apps/public/<app-id>/ and the
 * agent page on the next port, and prints ready-to-paste curl commands. Ctrl+C stops everything.
 *
 * Environment: PORT (endpoints, default 3000; a taken port falls back to a free one),
 * SANDBOX_PAGE_PORT (agent page, default PORT + 1), BRIDGE_SECRET (default: random).
 * Flag: --repackage (package even when the zip looks current).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

import { curlCommand } from './curl';
import { runDenoInItsOwnProcessGroup } from './detachDeno';
import { REPO_ROOT, ensurePackaged } from './packaging';
import { Sandbox } from './Sandbox';
import { DEPARTMENTS, SAMPLE_CONTACT, defaultWebhookBody } from './samples';
import { WebServer } from './webServer';

function portFromEnv(name: string, fallback: number): number {
    const raw = process.env[name];
    if (raw === undefined || raw === '') {
        return fallback;
    }
    const port = Number(raw);
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
        throw new Error(`${name} must be a port number (got "${raw}")`);
    }
    return port;
}

function curl(method: 'GET' | 'POST', url: string, secret: string, body?: unknown): string {
    // `; echo`: the app's JSON answer has no final newline.
    return `${curlCommand({ method, url, authorization: `Token ${secret}`, body: body === undefined ? undefined : JSON.stringify(body) })}; echo`;
}

function banner(sandbox: Sandbox, pageUrl: string, packaged: string): string {
    const base = sandbox.apiBaseUrl;
    const secret = sandbox.secret;
    const contact = { uuid: SAMPLE_CONTACT.uuid, name: SAMPLE_CONTACT.name, urn: SAMPLE_CONTACT.urns[0] };
    const departments = DEPARTMENTS.map(
        (d) => `${d.name} (${(d.agents ?? []).map((a) => `${a.username}${a.online ? ' online' : ' offline'}`).join(', ')})`,
    ).join(', ');
    const lines = [
        '',
        `RapidPro Bridge ${sandbox.host.appInfo.version} sandbox is running (${packaged}).`,
        '',
        `  Endpoints     ${base}/`,
        `  Bridge secret ${secret}   (header: Authorization: Token <secret>)`,
        `  Agent page    ${pageUrl}/`,
        `  RapidPro sim  ${sandbox.sim.url}   (API token ${sandbox.sim.token})`,
        '',
        `  Rocket.Chat: manual routing (you accept chats on the agent page); departments ${departments}.`,
        `  Sample contact ${contact.name}, uuid ${contact.uuid} (the simulator has their bot conversation).`,
        '',
        'Try it (paste into another terminal):',
        '',
        '# 1. A flow hands the contact over (RapidPro\'s default Call Webhook body) -> 200 {"status":"queued",...}',
        curl('POST', `${base}/handoff`, secret, defaultWebhookBody(contact)),
        '',
        '# 2. The contact writes -> 200 {"status":"delivered",...}; the agent page shows it',
        curl('POST', `${base}/message`, secret, { contact, text: 'I still have fever, and now a headache too' }),
        '',
        '# 3. Where does the contact stand -> queued, then open once an agent accepted the chat on the page',
        curl('GET', `${base}/status?contact=${contact.uuid}`, secret),
        '',
        '# 4. The contact ends the chat -> 200 {"status":"closed",...}',
        curl('POST', `${base}/close`, secret, defaultWebhookBody(contact)),
        '',
        '# 5. Departments for flow menus, and the health check',
        curl('GET', `${base}/departments`, secret),
        curl('GET', `${base}/health`, secret),
        '',
        `Then open ${pageUrl}/ : accept the chat as alice, reply (try :thumbsup: and a long text), send a file,`,
        'edit, transfer, close, and watch what RapidPro receives. Ctrl+C stops the sandbox.',
        '',
    ];
    return lines.join('\n');
}

async function main(): Promise<void> {
    // Keep everything the engine writes (its temp folder, key cache) inside the project (.build is git-ignored).
    const tmp = path.join(REPO_ROOT, '.build', 'sandbox-tmp');
    fs.mkdirSync(tmp, { recursive: true });
    process.env.TMPDIR = tmp;

    const apiPort = portFromEnv('PORT', 3000);
    const packaged = ensurePackaged({ force: process.argv.includes('--repackage') });
    const zipName = path.relative(REPO_ROOT, packaged.zip);
    process.stdout.write(
        packaged.built
            ? `Packaged ${zipName} in ${(packaged.ms / 1000).toFixed(1)} s.\n`
            : `Using ${zipName} (up to date with the sources).\n`,
    );
    process.stdout.write('Starting the Apps-Engine, the in-memory Rocket.Chat and the RapidPro simulator ...\n');

    runDenoInItsOwnProcessGroup();
    const sandbox = await Sandbox.start({ zip: packaged.zip, port: apiPort, secret: process.env.BRIDGE_SECRET });
    const web = new WebServer(sandbox);
    const hostPort = Number(new URL(sandbox.apiBaseUrl).port);
    let pageUrl: string;
    try {
        pageUrl = await web.listen(portFromEnv('SANDBOX_PAGE_PORT', hostPort + 1));
    } catch (error) {
        await sandbox.stop();
        throw error;
    }
    sandbox.samplesBaseUrl = pageUrl;
    if (apiPort !== 0 && hostPort !== apiPort) {
        process.stdout.write(`Port ${apiPort} is taken: using ${hostPort} instead.\n`);
    }
    process.stdout.write(banner(sandbox, pageUrl, packaged.built ? `freshly packaged ${zipName}` : zipName));

    let stopping = false;
    const shutdown = async (signal: string): Promise<void> => {
        if (stopping) {
            process.stdout.write('Forced exit.\n');
            process.exit(130);
        }
        stopping = true;
        process.stdout.write(`\n${signal}: stopping the sandbox ...\n`);
        setTimeout(() => {
            process.stdout.write('Still stopping after 20 s: forced exit.\n');
            process.exit(1);
        }, 20000).unref();
        await web.close();
        await sandbox.stop();
        process.stdout.write('Stopped.\n');
        process.exit(0);
    };
    process.on('SIGINT', () => void shutdown('SIGINT'));
    process.on('SIGTERM', () => void shutdown('SIGTERM'));
}

main().catch((error: unknown) => {
    process.stderr.write(`\nThe sandbox could not start: ${(error as Error)?.stack ?? error}\n`);
    process.exit(1);
});
