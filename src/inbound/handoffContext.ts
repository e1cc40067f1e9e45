import type { ILivechatRoom, IVisitor } from '@rocket.chat/apps-engine/definition/livechat';

import { formatTranscript } from '../lib/agentContext';
import { HISTORY_TIMEOUT_MS, HISTORY_WINDOW_MS } from '../lib/limits';
import { errorText } from '../lib/log';
import type { EndpointContext } from './BridgeEndpoint';
import type { HandoffRequest } from './payloads/types';

/**
 * What the agent needs before answering, in separate steps: the bot's results, the custom fields,
 * the recent bot conversation. One step failing never skips another; the agent gets a short note
 * naming what could not be posted. Notes are split to the server's message size limit.
 */
export async function postAgentContext(
    ctx: EndpointContext,
    room: ILivechatRoom,
    visitor: IVisitor,
    request: HandoffRequest,
    summary: string,
): Promise<void> {
    const { services } = ctx;
    const limit = await services.notifier.roomMessageLimit(ctx.read);
    const missing: string[] = [];
    const step = async (what: string, work: () => Promise<void>) => {
        try {
            await work();
        } catch (error) {
            missing.push(what);
            services.logger.warn(`Handoff step "${what}" failed in room ${room.id}: ${errorText(error)}`);
        }
    };

    await step('the handoff summary', () => services.notifier.postNote(ctx, room, summary, limit));

    const refusedFields: string[] = [];
    await step('the custom fields', async () => {
        refusedFields.push(...(await setCustomFields(ctx, visitor, request.fields)));
    });

    const wantsHistory = request.history !== undefined ? request.history : ctx.config.historyOnHandoff;
    if (wantsHistory) {
        await step('the recent conversation with the bot', async () =>
            services.notifier.postNote(ctx, room, await transcript(ctx, request.contact.uuid), limit),
        );
    }

    const problems: string[] = [];
    if (refusedFields.length > 0) {
        problems.push(
            `Rocket.Chat did not save the custom fields ${refusedFields.map((key) => `"${key}"`).join(', ')} ` +
                "(each must be defined in Omnichannel > Custom Fields, and its value must match the field's validation); " +
                'their values are in the summary.',
        );
    }
    if (missing.length > 0) {
        problems.push(`The bridge could not post ${missing.join(', ')}; the app's log says why.`);
    }
    if (problems.length > 0) {
        await services.notifier.notifyAgent(ctx, room.id, problems.join('\n'));
    }
}

/** Sets each field on its own (one unknown key must not stop the others); returns the keys refused. */
async function setCustomFields(ctx: EndpointContext, visitor: IVisitor, fields: Record<string, string>): Promise<string[]> {
    const updater = ctx.modify.getUpdater().getLivechatUpdater();
    const refused: string[] = [];
    for (const key of Object.keys(fields)) {
        try {
            // Rocket.Chat validates the key and value (apps/meteor/app/livechat/server/lib/custom-fields.ts).
            const saved = await updater.setCustomFields(visitor.token, key, fields[key], true);
            if (!saved) {
                refused.push(key);
            }
        } catch (error) {
            refused.push(key);
            ctx.services.logger.warn(`Custom field "${key}" not set: ${errorText(error)}`);
        }
    }
    return refused;
}

async function transcript(ctx: EndpointContext, contactUuid: string): Promise<string> {
    const client = ctx.services.rapidPro.clientFor(ctx.http, ctx.config, { timeoutCapMs: HISTORY_TIMEOUT_MS });
    if (!client) {
        return '_The bot conversation is not available: RapidPro is not configured._';
    }
    const outcome = await client.listMessages(contactUuid, new Date(Date.now() - HISTORY_WINDOW_MS));
    if (outcome.kind !== 'ok') {
        return `_The bot conversation could not be fetched from RapidPro (${outcome.reason})._`;
    }
    return formatTranscript(outcome.body?.results || []) || '_No recent messages with the bot._';
}
