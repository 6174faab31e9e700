export { registerRoutes, userOf, type RoutesOptions } from './routes';
export { registerMemberRoutes } from './members';
export { registerAuth, accessFor, type AuthOptions } from './auth/routes';
export { Sessions, SESSION_COOKIE, type AuthUser } from './auth/sessions';
export { Oidc, type OidcConfig } from './auth/oidc';
export { errorHandler, HttpError } from './errors';
export { loadResources, buildResources, schemaTables, type Resource } from './resources';
