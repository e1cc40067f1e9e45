import type { IPersistence, IPersistenceRead } from '@rocket.chat/apps-engine/definition/accessors';
import { RocketChatAssociationModel, RocketChatAssociationRecord } from '@rocket.chat/apps-engine/definition/metadata';
import { createHmac, randomBytes } from 'crypto';

interface InstallKey {
    key: string;
    at: number;
}

const INSTALL_KEY = new RocketChatAssociationRecord(RocketChatAssociationModel.MISC, 'visitor-token-key');

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
        let keys = (await reader.readByAssociation(INSTALL_KEY)) as InstallKey[];
        if (keys.length === 0) {
            await persis.createWithAssociation({ key: randomBytes(32).toString('hex'), at: Date.now() }, INSTALL_KEY);
            keys = (await reader.readByAssociation(INSTALL_KEY)) as InstallKey[];
        }
        return keys.reduce((a, b) => (b.at < a.at || (b.at === a.at && b.key < a.key) ? b : a)).key;
    }
}
