import type { IDepartment, IVisitor } from '@rocket.chat/apps-engine/definition/livechat';

import { phoneFromUrn } from '../lib/urn';
import type { EndpointContext } from './BridgeEndpoint';
import type { HandoffRequest } from './payloads/types';

/**
 * The livechat visitor of a RapidPro contact, found by the token derived from the contact uuid.
 *
 * Rocket.Chat's registerGuest falls back to matching by phone when the token is unknown and then
 * hands back the OTHER visitor with its old token (packages/omni-core/src/visitor/create.ts). Two
 * contacts sharing a phone (a family phone) would share one visitor and one chat, so the phone is
 * only given to Rocket.Chat when no other visitor holds it; the agent still sees the number in the
 * handoff summary.
 */
export async function findOrCreateVisitor(
    ctx: EndpointContext,
    request: HandoffRequest,
    department: IDepartment | undefined,
): Promise<IVisitor> {
    const livechat = ctx.read.getLivechatReader();
    const token = await ctx.services.visitorTokens.tokenFor(request.contact.uuid, ctx.read.getPersistenceReader(), ctx.persis);
    const known = await livechat.getLivechatVisitorByToken(token);
    const phone = phoneFromUrn(request.contact.urn);
    let phoneIsFree = !!phone;
    const knownHasPhone = !!known?.phone?.some((entry) => entry.phoneNumber === phone);
    if (phone && !knownHasPhone) {
        // Also for a known visitor: another contact may have registered the number since.
        const holder = await livechat.getLivechatVisitorByPhoneNumber(phone);
        phoneIsFree = !holder || holder.token === token;
    }
    const wanted = {
        id: known ? known.id : undefined,
        token,
        username: known ? known.username : `rapidpro-${request.contact.uuid.slice(0, 8)}`,
        name: request.contact.name || (request.contact.urn ? request.contact.urn.replace(/^[a-z]+:/i, '') : 'RapidPro contact'),
        department: department ? department.id : undefined,
        phone: phone && phoneIsFree ? [{ phoneNumber: phone }] : undefined,
    } as IVisitor;
    const creator = ctx.modify.getCreator().getLivechatCreator();
    let visitor = await creator.createAndReturnVisitor(wanted);
    if (visitor && visitor.token !== token && wanted.phone) {
        // Another contact registered this phone in the meantime: register ours without it.
        ctx.services.logger.warn(
            'A visitor with the same phone number appeared during the handoff; registering the contact without the phone',
        );
        visitor = await creator.createAndReturnVisitor({ ...wanted, phone: undefined } as IVisitor);
    }
    if (!visitor || visitor.token !== token) {
        throw new Error('Rocket.Chat did not create the livechat visitor');
    }
    // registerGuest keeps a stored department when none is given; the room goes where this handoff says.
    return { ...visitor, department: department ? department.id : undefined } as IVisitor;
}
