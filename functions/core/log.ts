import { Logger } from '@aws-lambda-powertools/logger';

/** One structured logger for every handler and task; the service name comes from the function's environment. */
export const logger = new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'prm' });
