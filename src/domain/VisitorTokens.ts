import type { IPersistence, IPersistenceRead } from '@rocket.chat/apps-engine/definition/accessors';
import { createHmac, randomBytes } from 'crypto';

import { associationsOf, isRecordOf, Keys, RecordKind } from './records';

interface InstallKey {
    record: typeof RecordKind.VisitorTokenKey;
    key: string;
    at: number;
}

const isInstallKey = isRecordOf<InstallKey>(RecordKind.VisitorTokenKey);

/**
 * The livechat visitor token of a contact, derived from the contact's uuid: the same contact always
 * gets the same visitor, on any instance, with nothing to look up. The token is also the visitor's
 * credential for Rocket.Chat's livechat API, so it is an HMAC under a random key made once per
 * installation, never the guessable uuid itself.
 */
export class VisitorTokens {
    /** The promise is kept, not the value, so concurrent first calls share one read (or creation). */
    private key?: Promise<string>;

    async tokenFor(contactUuid: string, reader: IPersistenceRead, persis: IPersistence): Promise<string> {
        if (!this.key) {
            this.key = this.installKey(reader, persis);
            this.key.catch(() => {
                this.key = undefined; // try again on the next call
            });
        }
        const key = await this.key;
        return `rapidpro-${createHmac('sha256', key).update(contactUuid).digest('hex').slice(0, 40)}`;
    }

    /** The oldest key wins, so two instances that made one at the same moment agree on one. */
    private async installKey(reader: IPersistenceRead, persis: IPersistence): Promise<string> {
        let keys = (await reader.readByAssociation(Keys.visitorTokenKey())).filter(isInstallKey);
        if (keys.length === 0) {
            const created: InstallKey = { record: RecordKind.VisitorTokenKey, key: randomBytes(32).toString('hex'), at: Date.now() };
            await persis.createWithAssociations(created, associationsOf.visitorTokenKey());
            keys = (await reader.readByAssociation(Keys.visitorTokenKey())).filter(isInstallKey);
        }
        return keys.reduce((a, b) => (b.at < a.at || (b.at === a.at && b.key < a.key) ? b : a)).key;
    }
}
