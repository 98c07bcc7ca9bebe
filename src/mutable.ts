/**
 * `T` with its fields writable: for an object built field by field (a field set only when it has
 * a value), where spreading small objects into a literal would cost an allocation each. @internal
 */
export type Mutable<T> = { -readonly [K in keyof T]: T[K] };
