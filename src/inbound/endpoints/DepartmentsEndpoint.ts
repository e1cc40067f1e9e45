import type { IApiResponse } from '@rocket.chat/apps-engine/definition/api';

import { BridgeEndpoint, type EndpointContext } from '../BridgeEndpoint';
import { okResponse } from '../responses';

/** `GET departments`: enabled departments and whether an agent is online, for flow menus. */
export class DepartmentsEndpoint extends BridgeEndpoint {
    protected async handleGet(ctx: EndpointContext): Promise<IApiResponse> {
        const livechat = ctx.read.getLivechatReader();
        const departments = (await livechat.getDepartmentsEnabledWithAgents()) || [];
        const online = await Promise.all(departments.map((department) => livechat.isOnlineAsync(department.id)));
        return okResponse({
            departments: departments.map((department, index) => ({
                id: department.id,
                name: department.name || department.id,
                online: online[index] === true,
            })),
        });
    }
}
