// swagger-ui-dist ships no types; this is the part of its bundle's API
// that src/docs/main.ts uses (https://swagger.io/docs/open-source-tools/swagger-ui/usage/configuration/).
declare module 'swagger-ui-dist/swagger-ui-bundle.js' {
  interface SwaggerUIOptions {
    url: string;
    dom_id: string;
    presets?: unknown[];
    layout?: string;
    deepLinking?: boolean;
    validatorUrl?: string | null;
    defaultModelsExpandDepth?: number;
    displayRequestDuration?: boolean;
  }
  interface SwaggerUIBundle {
    (options: SwaggerUIOptions): unknown;
    presets: { apis: unknown };
  }
  const SwaggerUIBundle: SwaggerUIBundle;
  export default SwaggerUIBundle;
}
