// The API docs page (/docs): Swagger UI rendering the server's own OpenAPI
// document. Everything it loads comes from this server: the bundle is built
// into dist/ by Vite and embedded in the binary, and the server answers the
// page with a Content-Security-Policy that allows nothing else
// (web/handler.go, docsPolicy).
import SwaggerUIBundle from 'swagger-ui-dist/swagger-ui-bundle.js';
import 'swagger-ui-dist/swagger-ui.css';
import './docs.css';

SwaggerUIBundle({
  // Relative, like the dashboard's URLs: behind a reverse proxy that mounts
  // Eventara under a prefix, this is <prefix>/api/v1/openapi.json.
  url: 'api/v1/openapi.json',
  dom_id: '#swagger-ui',
  presets: [SwaggerUIBundle.presets.apis],
  layout: 'BaseLayout',
  deepLinking: true,
  // Swagger UI would otherwise send the document to validator.swagger.io
  // and show its badge: no request leaves this server.
  validatorUrl: null,
  defaultModelsExpandDepth: 0,
  displayRequestDuration: true,
});
