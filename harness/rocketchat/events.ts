import type { AppManager } from '@rocket.chat/apps-engine/server/AppManager';

import { RcConverters } from './converters';

export interface EventRecord {
    event: string;
    roomId?: string;
    messageId?: string;
    at: Date;
    /** Cluster mode: the instance the event fired on. */
    instance?: number;
}

/**
 * Cluster mode: picks the instance an event fires on (the one where the action happened) and runs the
 * engine call there; may set `record.instance`.
 */
export type EventDispatcher = (record: EventRecord, call: (manager: AppManager) => Promise<unknown>) => Promise<unknown>;

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

    /** Cluster mode: set by the cluster; events go through it instead of the attached manager. */
    public dispatcher?: EventDispatcher;

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
        const dispatcher = this.dispatcher;
        if (!manager && !dispatcher) {
            return Promise.resolve();
        }
        let data: unknown;
        try {
            data = payload();
        } catch (error) {
            this.eventErrors.push({ event, error });
            return Promise.resolve();
        }
        const record: EventRecord = { event, ...meta, at: new Date() };
        this.events.push(record);
        const call = async (target: AppManager): Promise<unknown> => {
            const listenerManager = target.getListenerManager() as unknown as Record<string, (d: unknown) => Promise<unknown>> & {
                executeListener(i: string, d: unknown): Promise<unknown>;
            };
            const method = MESSAGE_EVENT_METHODS[event];
            if (method) {
                // executeListener() does not await these (fire-and-forget); the private executors do.
                return listenerManager[method].call(listenerManager, data);
            }
            return listenerManager.executeListener(event, data);
        };
        const promise = (async () => {
            try {
                await (dispatcher ? dispatcher(record, call) : call(manager as AppManager));
            } catch (error) {
                this.eventErrors.push({ event, error });
            }
        })();
        this.pending.add(promise);
        void promise.then(() => this.pending.delete(promise));
        return promise;
    }
}
