import type { IRead } from '@rocket.chat/apps-engine/definition/accessors';

import type { AgentFile } from '../domain/outboxItems';
import { contentTypeFromName } from '../lib/media';
import type { AgentFileRef } from './agentMessageFilter';

/** The files of an agent message as the outbox keeps them, with a link an agent can open. */
export async function agentFilesOf(refs: AgentFileRef[], read: IRead): Promise<AgentFile[]> {
    if (refs.length === 0) {
        return [];
    }
    let siteUrl = '';
    try {
        siteUrl = String((await read.getEnvironmentReader().getServerSettings().getValueById('Site_Url')) || '').replace(/\/+$/, '');
    } catch (_error) {
        siteUrl = '';
    }
    return refs.map((file) => ({
        uploadId: file.id,
        name: file.name,
        contentType: file.type || contentTypeFromName(file.name),
        link: `${siteUrl}/file-upload/${file.id}/${encodeURIComponent(file.name)}`,
    }));
}
