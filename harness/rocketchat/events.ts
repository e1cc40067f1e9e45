import type { AppManager } from '@rocket.chat/apps-engine/server/AppManager';

import { RcConverters } from './converters';

export interface EventRecord {
    event: string;
    roomId?: string;
    messageId?: string;
    at: Date;
}

export interface EventError {
    event: string;
    error: unknown;
}

const MESSAGE_EVENT_METHODS: Record<string, string> = {
    IPostMessageSent: 'executePostMessageSent',
    IPostSystemMessageSent: 'executePostSystemMessageSent',
    IPostMessageUpdated: 'executePostMessageUpdated',
    IPostMessageDeleted: 'executePostMessageDelete',
};

/**
 * Events: Rocket.Chat fires app events without waiting (`void Apps.self?.triggerEvent(...)`). Here
 * every event is dispatched through the engine's listener manager methods that await the app, and
 * tracked; `idle()` resolves when every event (and the events those caused) has been handled.
 */
export class RcEvents extends RcConverters {
    /** Every app event dispatched, in order. */
    public readonly events: EventRecord[] = [];

    /** Errors thrown by the app while handling events (Rocket.Chat only logs these). */
    public readonly eventErrors: EventError[] = [];

    protected manager?: AppManager;

    protected readonly pending = new Set<Promise<void>>();

    /** Called by the host once the AppManager exists. */
    public attach(manager: AppManager): void {
        this.manager = manager;
    }

    /** Resolves when every app event dispatched so far (and those they caused) has been handled. */
    public async idle(): Promise<void> {
        while (this.pending.size) {
            await Promise.all([...this.pending]);
        }
    }

    /**
     * Dispatches an app event through the engine's listener manager, tracked for `idle()`. The payload
     * is built right away (Rocket.Chat converts at trigger time), the app call is not awaited here.
     */
    public fire(event: string, payload: () => unknown, meta: { roomId?: string; messageId?: string } = {}): Promise<void> {
        const manager = this.manager;
        if (!manager) {
            return Promise.resolve();
        }
        let data: unknown;
        try {
            data = payload();
        } catch (error) {
            this.eventErrors.push({ event, error });
            return Promise.resolve();
        }
        this.events.push({ event, ...meta, at: new Date() });
        const listenerManager = manager.getListenerManager() as unknown as Record<string, (d: unknown) => Promise<unknown>> & {
            executeListener(i: string, d: unknown): Promise<unknown>;
        };
        const promise = (async () => {
            try {
                const method = MESSAGE_EVENT_METHODS[event];
                if (method) {
                    // executeListener() does not await these (fire-and-forget); the private executors do.
                    await listenerManager[method].call(listenerManager, data);
                } else {
                    await listenerManager.executeListener(event, data);
                }
            } catch (error) {
                this.eventErrors.push({ event, error });
            }
        })();
        this.pending.add(promise);
        void promise.then(() => this.pending.delete(promise));
        return promise;
    }
}
