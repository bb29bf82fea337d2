import { Duration, Lazy, Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import { CfnRoute, CfnStage, CorsHttpMethod, HttpApi, HttpMethod, HttpNoneAuthorizer, HttpStage, LogGroupLogDestination, type ThrottleSettings } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpJwtAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type { UserPool, UserPoolClient } from 'aws-cdk-lib/aws-cognito';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { ROUTES, routeKey, type RouteSpec } from '../functions/catalog.ts';

/** Request headers the web app sends: the Cognito ID token, JSON bodies, idempotency keys. */
export const CORS_ALLOWED_HEADERS = ['Authorization', 'Content-Type', 'Idempotency-Key'];

/** Every route's default limit on the stage. */
export const STAGE_THROTTLE = { rateLimit: 50, burstLimit: 100 } as const satisfies ThrottleSettings;
/**
 * Each `auth: 'public'` route's own, lower limit: anyone can call those (sign-up form, approval
 * links, health), and they must not use up the capacity the signed-in partners and staff share.
 */
export const PUBLIC_ROUTE_THROTTLE = { rateLimit: 5, burstLimit: 10 } as const satisfies ThrottleSettings;

export interface ApiProps {
  userPool: UserPool;
  client: UserPoolClient;
  /** Browser origins allowed to call the API (CORS preflight answered by API Gateway). */
  webOrigins: readonly string[];
}

/**
 * The HTTP API. It exists before the functions (they need its URL in PRM_CONFIG); `addRoutes` then
 * wires the catalog routes to them.
 */
export class Api extends Construct {
  readonly httpApi: HttpApi;
  readonly stage: HttpStage;
  private readonly jwt: HttpJwtAuthorizer;
  private readonly integrations = new Map<IFunction, HttpLambdaIntegration>();
  /** CfnStage RouteSettings, by route key. */
  private readonly routeSettings: Record<string, { ThrottlingRateLimit: number; ThrottlingBurstLimit: number }> = {};

  constructor(scope: Construct, id: string, { userPool, client, webOrigins }: ApiProps) {
    super(scope, id);
    this.httpApi = new HttpApi(this, 'Http', {
      createDefaultStage: false,
      corsPreflight: {
        allowOrigins: [...webOrigins],
        allowMethods: [...new Set(ROUTES.map((r) => CorsHttpMethod[r.method]))],
        allowHeaders: CORS_ALLOWED_HEADERS,
        maxAge: Duration.hours(1),
      },
    });

    const accessLogs = new LogGroup(this, 'AccessLogs', { retention: RetentionDays.ONE_MONTH });
    this.stage = new HttpStage(this, 'DefaultStage', {
      httpApi: this.httpApi,
      stageName: '$default',
      autoDeploy: true,
      throttle: STAGE_THROTTLE,
      accessLogSettings: {
        destination: new LogGroupLogDestination(accessLogs),
        format: AccessLogFormat.custom(
          JSON.stringify({
            requestId: '$context.requestId',
            routeKey: '$context.routeKey',
            status: '$context.status',
            sourceIp: '$context.identity.sourceIp',
            latencyMs: '$context.responseLatency',
            integrationError: '$context.integrationErrorMessage',
            authorizerError: '$context.authorizer.error',
          }),
        ),
      },
    });

    (this.stage.node.defaultChild as CfnStage).routeSettings = Lazy.any({
      produce: () => (Object.keys(this.routeSettings).length > 0 ? this.routeSettings : undefined),
    });

    this.jwt = new HttpJwtAuthorizer('Cognito', userPool.userPoolProviderUrl, { jwtAudience: [client.userPoolClientId] });
  }

  /** One Lambda integration per function, shared by all of its routes. */
  addRoutes(routes: readonly RouteSpec[], functionFor: (route: RouteSpec) => IFunction): void {
    for (const route of routes) {
      const fn = functionFor(route);
      let integration = this.integrations.get(fn);
      if (!integration) {
        integration = new HttpLambdaIntegration(`${route.fn}Integration`, fn);
        this.integrations.set(fn, integration);
      }
      const [created] = this.httpApi.addRoutes({
        path: route.path,
        methods: [HttpMethod[route.method]],
        integration,
        authorizer: route.auth === 'jwt' ? this.jwt : new HttpNoneAuthorizer(),
      });
      if (route.auth === 'public' && created) {
        this.routeSettings[routeKey(route)] = {
          ThrottlingRateLimit: PUBLIC_ROUTE_THROTTLE.rateLimit,
          ThrottlingBurstLimit: PUBLIC_ROUTE_THROTTLE.burstLimit,
        };
        // CloudFormation refuses route settings for a route key that does not exist yet.
        (this.stage.node.defaultChild as CfnStage).addResourceDependency(created.node.defaultChild as CfnRoute);
        Validations.of(created).acknowledge({
          id: 'AwsSolutions-APIG4',
          reason: `${routeKey(route)} is declared auth 'public' in functions/catalog.ts: it must work without a Cognito session (health probe, partner application form, or an emailed approval link whose HMAC-signed, expiring token the handler verifies).`,
        });
      }
    }
  }

  /** Base URL without a trailing slash, as PRM_CONFIG.baseUrl expects. */
  get url(): string {
    return this.httpApi.apiEndpoint;
  }
}
