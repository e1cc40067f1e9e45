import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type Browser, type Page, chromium } from 'playwright-core';

import { mainAppZip } from '../../harness/engine';
import { Sandbox } from '../../sandbox/Sandbox';
import { WebServer } from '../../sandbox/webServer';

/**
 * The sandbox's agent page in a real headless Chromium (Debian's, driven by playwright-core, which
 * downloads no browser), at 1024 x 768: what a person sees while they hand a contact over, write both
 * ways, transfer and close. The steps share one page and run in order, like a person would.
 */

const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const SHOTS = path.resolve(__dirname, '..', '..', '.build', 'browser');
const WAIT_MS = 10000;

describe('the sandbox page in a headless browser', () => {
    let sandbox: Sandbox;
    let web: WebServer;
    let browser: Browser;
    let page: Page;

    beforeAll(async () => {
        // A missing browser fails the suite (it must never pass unseen): CI installs it in .ci/run.
        if (!fs.existsSync(CHROMIUM)) {
            throw new Error(
                `No Chromium at ${CHROMIUM}: the browser test needs it. Install it with \`apt-get install -y chromium\` (Debian), or set CHROMIUM_PATH.`,
            );
        }
        sandbox = await Sandbox.start({ zip: mainAppZip(), port: 0 });
        web = new WebServer(sandbox);
        sandbox.samplesBaseUrl = await web.listen(0);
        browser = await chromium.launch({ executablePath: CHROMIUM, headless: true });
        const context = await browser.newContext({ viewport: { width: 1024, height: 768 } });
        await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: web.url });
        page = await context.newPage();
        await page.goto(`${web.url}/`);
        await page.locator('#base-url', { hasText: '/api/apps/public/' }).waitFor({ timeout: WAIT_MS });
    });

    afterAll(async () => {
        if (page) {
            fs.mkdirSync(SHOTS, { recursive: true });
            await page.screenshot({ path: path.join(SHOTS, 'sandbox-page.png') }).catch(() => undefined);
        }
        await browser?.close();
        await web?.close();
        await sandbox?.stop();
    });

    const chat = () => page.locator('#messages');
    const text = async (selector: string) => ((await page.locator(selector).textContent()) ?? '').trim();
    const seeInChat = (what: string | RegExp) => chat().getByText(what).first().waitFor({ timeout: WAIT_MS });
    async function waitForText(selector: string, expected: string | RegExp): Promise<void> {
        await page.locator(selector, { hasText: expected }).first().waitFor({ timeout: WAIT_MS });
    }
    async function waitForValue(selector: string, expected: string): Promise<void> {
        await page.waitForFunction(
            ([sel, value]) => (document.querySelector(sel) as HTMLSelectElement | null)?.value === value,
            [selector, expected],
            {
                timeout: WAIT_MS,
            },
        );
    }
    async function reply(message: string): Promise<void> {
        await page.fill('#reply-text', message);
        await page.click('#reply-form button[type=submit]');
        await page.waitForFunction(() => (document.querySelector('#reply-text') as HTMLTextAreaElement).value === '', undefined, {
            timeout: WAIT_MS,
        });
    }

    it('fits 1024 px: the header is one line and the right column is not clipped', async () => {
        const layout = await page.evaluate(() => {
            const box = (sel: string) => document.querySelector(sel)!.getBoundingClientRect();
            return {
                headerHeight: box('.topbar').height,
                brandTop: box('.brand').top,
                agentsTop: box('#agents').top,
                rightEdge: box('#col-rapidpro').right,
                buttonRight: box('[data-fail="429"]').right,
                pageWidth: document.documentElement.scrollWidth,
            };
        });
        expect(layout.headerHeight).toBeLessThan(50);
        expect(Math.abs(layout.agentsTop - layout.brandTop)).toBeLessThan(12);
        expect(layout.rightEdge).toBeLessThanOrEqual(1024);
        expect(layout.buttonRight).toBeLessThanOrEqual(1024);
        expect(layout.pageWidth).toBeLessThanOrEqual(1024);
    });

    it('hands a contact over and shows the queued chat; the outcome covers no button', async () => {
        await page.fill('#handoff-name', 'Ana Browser');
        await page.selectOption('#handoff-dept', 'General');
        await page.fill('#handoff-text', 'I have a rash on my arm');
        await page.click('#handoff-form button[type=submit]');
        await waitForText('#toast', 'handoff → 200');
        await waitForText('#rooms .room.selected', 'Ana Browser');
        expect(await text('#rooms .room.selected .badge')).toMatch(/queued/i);
        await seeInChat('I have a rash on my arm');

        const overlaps = await page.evaluate(() => {
            const bar = document.querySelector('#toast')!.getBoundingClientRect();
            return Array.from(document.querySelectorAll('button'))
                .filter((b) => {
                    const r = b.getBoundingClientRect();
                    return r.width > 0 && r.left < bar.right && r.right > bar.left && r.top < bar.bottom && r.bottom > bar.top;
                })
                .map((b) => b.textContent);
        });
        expect(overlaps).toEqual([]);
    });

    it('accepts as alice, replies with an emoji shortcode shown as the emoji, and reads the contact', async () => {
        await waitForValue('#agent-select', 'alice');
        await page.click('#take');
        await waitForText('#room-header', 'served by alice');
        await reply('Hello Ana :smile: how long has it itched?');
        await seeInChat('Hello Ana 😄 how long has it itched?');
        expect(await text('#messages')).not.toContain(':smile:');
        // What RapidPro received for the contact: the same emoji.
        await waitForText('#requests .sent-text', 'Hello Ana 😄');

        // The contact side already points at the selected chat's contact.
        expect(await page.locator('#contact-select').evaluate((s: HTMLSelectElement) => s.selectedOptions[0]?.textContent)).toContain(
            'Ana Browser',
        );
        await page.fill('#contact-text', 'Since Monday');
        await page.click('#contact-form button[type=submit]');
        await seeInChat('Since Monday');
    });

    it('counts the messages waiting in the outbox while RapidPro is down, and empties when it is back', async () => {
        await page.click('#sim-down');
        await waitForText('#sim-status', 'RapidPro DOWN');
        await reply('First reply while RapidPro is down');
        await reply('Second reply while RapidPro is down');
        await waitForText('#jobs', /outbox: 2 messages waiting/);
        await page.click('#sim-down');
        await waitForText('#sim-status', 'RapidPro up');
        // The first retry comes 2.5 to 5 s after the failed try (src/lib/retryPolicy.ts).
        await page.locator('#jobs', { hasText: 'outbox: empty' }).waitFor({ timeout: 15000 });
        await waitForText('#requests .sent-text', 'Second reply while RapidPro is down');
        expect(await text('#jobs')).toBe('outbox: empty');
    });

    it('says where a transfer went, and "act as" follows the chat to its new agent', async () => {
        await page.selectOption('#transfer-target', 'department:Cardiology');
        await page.click('#transfer');
        await seeInChat('alice transferred the chat to department Cardiology (from General)');
        expect(await text('#rooms .room.selected .badge')).toMatch(/queued/i);
        // Manual routing queues it in Cardiology, where bob is the one who can accept it.
        await waitForValue('#agent-select', 'bob');
        await page.click('#take');
        await waitForText('#room-header', 'served by bob');

        await page.selectOption('#transfer-target', 'agent:alice');
        await page.click('#transfer');
        await seeInChat('bob transferred the chat to agent alice');
        await waitForText('#room-header', 'served by alice');
        await waitForValue('#agent-select', 'alice');
        expect(await text('#room-note')).toBe('');
        await reply('Alice again, back from Cardiology');
        await seeInChat('Alice again, back from Cardiology');
    });

    it('copies each call to the app as a curl command that works as it is', async () => {
        await page.click('#contact-status');
        await waitForText('#toast', 'status → 200');
        const copy = async (summary: string): Promise<string> => {
            await page.locator('#calls details', { hasText: summary }).first().locator('.copy-curl').click();
            await waitForText('#toast', 'curl command copied');
            return page.evaluate(() => navigator.clipboard.readText());
        };
        const statusCurl = await copy('GET status?contact=');
        const base = sandbox.apiBaseUrl;
        expect(statusCurl).toContain(`'${base}/status?contact=`);
        expect(statusCurl).toContain(`-H 'Authorization: Token ${sandbox.secret}'`);
        const status = JSON.parse(await shell(statusCurl));
        expect(status.status).toBe('open');

        const messageCurl = await copy('POST message');
        expect(messageCurl).toContain(`-X POST '${base}/message'`);
        expect(messageCurl).toContain(`-H 'Content-Type: application/json'`);
        expect(messageCurl).toContain('"text":"Since Monday"');
    });

    it('what reached the contact: a reply after the window is held, sent when the contact writes; a failure is told', async () => {
        const sentTo = (text: string) => sandbox.sim.sent.filter((m) => m.text === text).length;
        await waitForText('#window-state', '24-h window open');
        await page.click('#window-close');
        await waitForText('#toast', 'Window closed');
        await waitForText('#window-state', '24-h window closed (contact last wrote 25 h ago)');
        expect(await page.isDisabled('#window-close')).toBe(true);

        await reply('Your results are ready');
        await page
            .locator('#messages .msg.app.note-held', { hasText: 'Not sent yet: WhatsApp takes replies only within 24 h' })
            .waitFor({ timeout: WAIT_MS });
        await page.locator('#messages .msg.agent.held', { hasText: 'Your results are ready' }).waitFor({ timeout: WAIT_MS });
        await waitForText('#window-state', '1 reply held, not sent');
        expect(sentTo('Your results are ready')).toBe(0);
        expect(await text('#requests')).not.toContain('Your results are ready');

        // The contact writes: the window opens and the held reply goes out first.
        await page.fill('#contact-text', 'Back after a day');
        await page.click('#contact-form button[type=submit]');
        await seeInChat('Back after a day');
        await page
            .locator('#messages .msg.app.note-released', { hasText: 'The contact wrote again: the held reply went out' })
            .waitFor({ timeout: WAIT_MS });
        await waitForText('#requests .sent-text', 'Your results are ready');
        expect(sentTo('Your results are ready')).toBe(1);
        await waitForText('#window-state', '24-h window open');
        expect(await page.isDisabled('#window-open')).toBe(true);

        // RapidPro takes the next message, then marks it failed; the watcher (a 10-minute job) tells the agent.
        await page.click('#fail-next-message');
        await waitForText('#fail-next-message', '1 to fail');
        await reply('Your appointment is on Monday at 9');
        await page
            .locator('#requests .request', { hasText: 'Your appointment is on Monday at 9' })
            .locator('.tag.failed')
            .waitFor({ timeout: WAIT_MS });
        expect(await chat().getByText('RapidPro reports this message as failed').count()).toBe(0);
        await page.click('#run-watcher');
        await waitForText('#toast', 'the failure watcher ran');
        await page
            .locator('#messages .msg.app.note-failed', { hasText: 'RapidPro reports this message as failed; it did not reach the contact' })
            .filter({ hasText: '"Your appointment is on Monday at 9"' })
            .waitFor({ timeout: WAIT_MS });
        await waitForText('#watcher-note', 'clock +10 min');
        fs.mkdirSync(SHOTS, { recursive: true });
        await page.screenshot({ path: path.join(SHOTS, 'sandbox-reach.png') });
    });

    it('closes the chat: closed badge, closing line, no more replies, the bot flow starts again', async () => {
        await page.fill('#close-comment', 'Seen, ointment prescribed');
        await page.click('#close');
        await seeInChat('Chat closed: Seen, ointment prescribed');
        await waitForText('#rooms .room.selected .badge', /closed/i);
        expect(await text('#room-note')).toBe('This chat is closed.');
        expect(await page.isDisabled('#reply-form button[type=submit]')).toBe(true);
        expect(await page.isDisabled('#close')).toBe(true);
        await waitForText('#flow-starts', 'Back to the bot for Ana Browser');
    });
});

/** Runs a copied command in a shell, as a person pasting it into a terminal would. */
function shell(command: string): Promise<string> {
    return new Promise((resolve, reject) => {
        execFile('sh', ['-c', command], { timeout: 10000 }, (error, stdout, stderr) =>
            error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(stdout),
        );
    });
}
