import { NotImplementedError } from '../errors';

export const ni = (what: string): never => {
    throw new NotImplementedError(what);
};

/** A bridge whose every method throws a named "not implemented" error (the abstract base keeps its permission checks). */
export function notImplementedBridge<T extends object>(Base: abstract new () => T, name: string): T {
    const Impl = class extends (Base as unknown as new () => object) {};
    return new Proxy(new Impl(), {
        get(target, prop, receiver) {
            const value = Reflect.get(target, prop, receiver);
            if (value === undefined && typeof prop === 'string' && !['then', 'toJSON', 'constructor', 'inspect'].includes(prop)) {
                return () => ni(`${name}.${prop}`);
            }
            return value;
        },
    }) as T;
}
