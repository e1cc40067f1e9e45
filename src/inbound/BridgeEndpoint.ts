import type { IHttp, IModify, IPersistence, IRead } from '@rocket.chat/apps-engine/definition/accessors';
import { ApiEndpoint, type IApiEndpointInfo, type IApiRequest, type IApiResponse } from '@rocket.chat/apps-engine/definition/api';
import type { IApp } from '@rocket.chat/apps-engine/definition/IApp';

import type { BridgeServices } from '../BridgeServices';
import { errorText } from '../lib/log';
import type { BridgeConfig } from '../settings/BridgeConfig';
import { checkAuthorization } from './auth';
import { authErrorResponse, errorResponse } from './responses';

export interface EndpointContext {
    request: IApiRequest;
    read: IRead;
    modify: IModify;
    http: IHttp;
    persis: IPersistence;
    config: BridgeConfig;
    services: BridgeServices;
}

function headerOf(request: IApiRequest, name: string): string | undefined {
    const headers = request.headers || {};
    const value = headers[name] !== undefined ? headers[name] : headers[name.toLowerCase()];
    if (value !== undefined) {
        return Array.isArray(value) ? String(value[0]) : String(value);
    }
    const key = Object.keys(headers).filter((k) => k.toLowerCase() === name.toLowerCase())[0];
    return key ? String(headers[key]) : undefined;
}

export { headerOf };

/**
 * Every endpoint: the bridge secret checked first, then the endpoint's own validation and work.
 * Anything unexpected becomes a JSON 500 without details; bad input is the endpoint's 4xx.
 */
export abstract class BridgeEndpoint extends ApiEndpoint {
    constructor(
        app: IApp,
        public path: string,
        protected readonly services: BridgeServices,
    ) {
        super(app);
    }

    protected handleGet?(ctx: EndpointContext): Promise<IApiResponse>;
    protected handlePost?(ctx: EndpointContext): Promise<IApiResponse>;

    /** Both methods are declared so the wrong one gets a JSON 405 rather than the engine's bare error. */
    private supportedMethods(): string {
        return [this.handleGet ? 'GET' : '', this.handlePost ? 'POST' : ''].filter((m) => m).join(' or ');
    }

    async get(
        request: IApiRequest,
        endpoint: IApiEndpointInfo,
        read: IRead,
        modify: IModify,
        http: IHttp,
        persis: IPersistence,
    ): Promise<IApiResponse> {
        return this.dispatch('get', request, read, modify, http, persis);
    }

    async post(
        request: IApiRequest,
        endpoint: IApiEndpointInfo,
        read: IRead,
        modify: IModify,
        http: IHttp,
        persis: IPersistence,
    ): Promise<IApiResponse> {
        return this.dispatch('post', request, read, modify, http, persis);
    }

    // A webhook set to another method gets a JSON 405 (undeclared methods would make the engine answer 500).
    async put(
        request: IApiRequest,
        endpoint: IApiEndpointInfo,
        read: IRead,
        modify: IModify,
        http: IHttp,
        persis: IPersistence,
    ): Promise<IApiResponse> {
        return this.dispatch('put', request, read, modify, http, persis);
    }

    async patch(
        request: IApiRequest,
        endpoint: IApiEndpointInfo,
        read: IRead,
        modify: IModify,
        http: IHttp,
        persis: IPersistence,
    ): Promise<IApiResponse> {
        return this.dispatch('patch', request, read, modify, http, persis);
    }

    async delete(
        request: IApiRequest,
        endpoint: IApiEndpointInfo,
        read: IRead,
        modify: IModify,
        http: IHttp,
        persis: IPersistence,
    ): Promise<IApiResponse> {
        return this.dispatch('delete', request, read, modify, http, persis);
    }

    async head(
        request: IApiRequest,
        endpoint: IApiEndpointInfo,
        read: IRead,
        modify: IModify,
        http: IHttp,
        persis: IPersistence,
    ): Promise<IApiResponse> {
        const response = await this.dispatch('head', request, read, modify, http, persis);
        return { status: response.status, headers: response.headers }; // HEAD answers carry no body
    }

    async options(
        request: IApiRequest,
        endpoint: IApiEndpointInfo,
        read: IRead,
        modify: IModify,
        http: IHttp,
        persis: IPersistence,
    ): Promise<IApiResponse> {
        return this.dispatch('options', request, read, modify, http, persis);
    }

    private async dispatch(
        method: 'get' | 'post' | 'put' | 'patch' | 'delete' | 'head' | 'options',
        request: IApiRequest,
        read: IRead,
        modify: IModify,
        http: IHttp,
        persis: IPersistence,
    ): Promise<IApiResponse> {
        try {
            const config = await this.services.config(read);
            const auth = checkAuthorization(headerOf(request, 'authorization'), config.bridgeSecret);
            if (auth !== 'ok') {
                return authErrorResponse(auth);
            }
            const handler = method === 'get' ? this.handleGet : method === 'post' ? this.handlePost : undefined;
            if (!handler) {
                return errorResponse('method_not_allowed', `Use ${this.supportedMethods()} for ${this.path}.`);
            }
            return await handler.call(this, { request, read, modify, http, persis, config, services: this.services });
        } catch (error) {
            // Log the failure, never the request (it may carry secrets or health data).
            this.services.logger.error(`Endpoint ${this.path} failed: ${errorText(error)}`);
            return errorResponse('internal_error', 'The bridge could not complete the request; it was logged for the admin.');
        }
    }
}
