import type { IApi, IApiEndpoint } from '@rocket.chat/apps-engine/definition/api';
import { ApiBridge } from '@rocket.chat/apps-engine/server/bridges';
import type { AppApi } from '@rocket.chat/apps-engine/server/managers/AppApi';

export interface RegisteredEndpoint {
    appId: string;
    path: string;
    computedPath: string;
    regex: RegExp;
    keys: string[];
    endpoint: IApiEndpoint;
    api: IApi;
}

/** Express-like path matching (path-to-regexp 0.1: case-insensitive, optional trailing slash, `:param`). */
function compileRoute(path: string): { regex: RegExp; keys: string[] } {
    let routePath = path.trim();
    if (!routePath.startsWith('/')) {
        routePath = `/${routePath}`;
    }
    const keys: string[] = [];
    const pattern = routePath
        .replace(/\/+$/, '')
        .split('/')
        .map((segment) => {
            const m = /^:([A-Za-z0-9_]+)(\?)?$/.exec(segment);
            if (m) {
                keys.push(m[1]);
                return m[2] ? '(?:/([^/]+?))?' : '/([^/]+?)';
            }
            return segment ? `/${segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}` : '';
        })
        .join('');
    return { regex: new RegExp(`^${pattern || ''}/?$`, 'i'), keys };
}

/** bridges/api.ts: one express router per app; every method goes to `executeApi(appId, endpoint.path, request)`. */
export class RouterApiBridge extends ApiBridge {
    public readonly routes: RegisteredEndpoint[] = [];

    protected async registerApi({ api, computedPath, endpoint }: AppApi, appId: string): Promise<void> {
        if (typeof api !== 'object' || typeof endpoint.path !== 'string') {
            throw new Error('Invalid Api parameter provided, it must be a valid IApi object.');
        }
        const { regex, keys } = compileRoute(endpoint.path);
        this.routes.push({ appId, path: endpoint.path, computedPath, regex, keys, endpoint, api });
    }

    protected async unregisterApis(appId: string): Promise<void> {
        for (let i = this.routes.length - 1; i >= 0; i--) {
            if (this.routes[i].appId === appId) {
                this.routes.splice(i, 1);
            }
        }
    }

    /** The route (and decoded params) express would pick for `/api/apps/public/<appId><subPath>`. */
    public match(appId: string, subPath: string): { route: RegisteredEndpoint; params: Record<string, string> } | undefined {
        const path = subPath.startsWith('/') ? subPath : `/${subPath}`;
        for (const route of this.routes) {
            if (route.appId !== appId) {
                continue;
            }
            const m = route.regex.exec(path);
            if (m) {
                const params: Record<string, string> = {};
                route.keys.forEach((k, i) => {
                    if (m[i + 1] !== undefined) {
                        params[k] = decodeURIComponent(m[i + 1]);
                    }
                });
                return { route, params };
            }
        }
        return undefined;
    }
}
