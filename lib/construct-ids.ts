/** `typesense-sync` -> `TypesenseSync`: a function's construct id, the prefix of its alarms and outputs. */
export const pascalId = (name: string): string => name.replace(/(^|-)(\w)/g, (_, __, c: string) => c.toUpperCase());
