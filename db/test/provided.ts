// What the pg global setup hands every test file through vitest's inject().
export {};

declare module 'vitest' {
  export interface ProvidedContext {
    pgAdminUrl: string;
    pgTemplate: string;
    pgEmbedded: boolean;
  }
}
