export { registerRoutes, actorOf, type RoutesOptions } from './routes';
export { errorHandler, HttpError } from './errors';
export { resources } from './resources';
