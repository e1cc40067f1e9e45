/**
 * Validation helpers that reproduce Django REST framework's (3.15) error messages and shapes as RapidPro's API v2
 * uses them, in three parts: the core (errors, Python-like formatting, the serializer loop), the field types, and
 * RapidPro's value rules.
 */

export * from './fieldCore';
export * from './fieldTypes';
export * from './fieldValues';
