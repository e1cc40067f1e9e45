import { randomUUID } from 'node:crypto';
import {
    booleanField,
    isPlainObject,
    jsonField,
    listField,
    manyField,
    pythonJsonLength,
    relatedField,
    runSerializer,
    urnItem,
    ValidationError,
} from './fields';
import { type Ctx, formatMicros, json, type Reply } from './support';
import type { SimContact, SimFlowStart } from './types';
import { SimContacts } from './contacts';

/** /api/v2/flow_starts.json. */
export class SimFlowStarts extends SimContacts {
    protected postFlowStart(ctx: Ctx): Reply {
        const body = this.bodyDict(ctx);
        if ('error' in body) return body.error;
        const data = body.data;
        const pending = new Map<string, SimContact>();
        const objectParam = (v: unknown): Record<string, unknown> => {
            if (!isPlainObject(v)) throw new ValidationError(['Must be a valid JSON object']);
            return v;
        };
        const r = runSerializer(data, {
            flow: relatedField((ref) => this.findFlow(ref), { required: true }),
            contacts: manyField((ref) => this.lookupContact(ref, pending), { maxLength: 100 }),
            groups: manyField((ref) => this.findGroup(ref), { maxLength: 100 }),
            urns: listField(urnItem, { maxLength: 100 }),
            restart_participants: booleanField(),
            exclude_active: booleanField(),
            extra: jsonField({}, objectParam),
            params: jsonField({}, (v) => {
                const o = objectParam(v);
                if (pythonJsonLength(o) > 10000) throw new ValidationError(['Cannot exceed 10,000 characters encoded.']);
                return o;
            }),
        });
        if (!r.ok) return json(400, r.errors);
        const v = r.values;
        const contacts = (v.contacts as SimContact[] | null | undefined) ?? [];
        const groups = (v.groups as Array<{ uuid: string; name: string }> | null | undefined) ?? [];
        const urns = (v.urns as string[] | null | undefined) ?? [];
        if (!(contacts.length || groups.length || urns.length)) {
            return json(400, { non_field_errors: ['Must specify at least one group, contact or URN'] });
        }
        this.commit(pending);
        urns.forEach((u) => {
            this.contactForUrn(u);
        });
        const params =
            (v.params as Record<string, unknown> | null | undefined) || (v.extra as Record<string, unknown> | null | undefined) || null;
        const micros = this.tick();
        const at = formatMicros(micros);
        const flow = v.flow as { uuid: string; name: string };
        const start: SimFlowStart = {
            uuid: randomUUID(),
            id: this.nextId++,
            flow: { uuid: flow.uuid, name: flow.name },
            status: 'pending',
            progress: { total: -1, started: 0 },
            groups: groups.map((g) => ({ uuid: g.uuid, name: g.name })),
            contacts: contacts.map((c) => ({ uuid: c.uuid, name: c.name })),
            urns,
            params,
            created_on: at,
            modified_on: at,
            extra: params,
            restart_participants: v.restart_participants === undefined || v.restart_participants === null ? true : !!v.restart_participants,
            exclude_active: !!v.exclude_active,
        };
        this.micros.set(start, micros);
        this.flowStarts.push(start);
        return json(201, this.flowStartJson(start));
    }

    /** the API shape (without the simulator's `urns` record) */
    protected flowStartJson(s: SimFlowStart): Record<string, unknown> {
        const { urns: _urns, ...rest } = s;
        void _urns;
        return rest;
    }

    protected listFlowStarts(ctx: Ctx): Reply {
        let items = [...this.flowStarts];
        if (ctx.query.uuid) items = items.filter((s) => s.uuid === ctx.query.uuid);
        items = this.beforeAfter(items, ctx.query, 'modified_on');
        return this.page(ctx, this.newestFirst(items), (s) => this.flowStartJson(s));
    }
}
