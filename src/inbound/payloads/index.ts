/**
 * Request validation of every inbound endpoint: shared pieces in common.ts, attachments.ts and
 * results.ts, one file per endpoint's schema and parser. Endpoints import the file they need; this
 * index gathers them for whoever checks them all (the unit tests).
 */
export { parseAttachment } from './attachments';
export { type ParseResult, LIMITS, readJsonBody } from './common';
export { parseCloseRequest } from './close';
export { parseHandoffRequest } from './handoff';
export { parseContactMessageRequest } from './message';
export { parseContactQuery, parseStatusRequest } from './status';
export { parseTransferRequest } from './transfer';
export type {
    CloseRequest,
    ContactMessageRequest,
    ContactRef,
    FlowResult,
    HandoffRequest,
    InboundAttachment,
    StatusRequest,
    TransferRequest,
} from './types';
