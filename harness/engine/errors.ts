/** Thrown by every bridge method the emulation does not implement (like Rocket.Chat's own "Not implemented."). */
export class NotImplementedError extends Error {
    public readonly name = 'NotImplementedError';

    constructor(public readonly what: string) {
        super(`Not implemented in the Rocket.Chat emulation: ${what}`);
    }
}

/**
 * An error the way Rocket.Chat's Meteor.Error reaches an app: the message is `"<reason> [<error>]"`,
 * or `"[<error>]"` without a reason (meteor/meteor Meteor.Error), and `error` holds the machine code
 * (e.g. `no-agent-online`).
 */
export class RocketChatError extends Error {
    public readonly name = 'RocketChatError';

    constructor(
        public readonly error: string,
        public readonly reason?: string,
    ) {
        super(reason ? `${reason} [${error}]` : `[${error}]`);
    }
}
