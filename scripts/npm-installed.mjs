// Exits 0 when node_modules holds every package that package.json (in the
// current folder) names, else 1 and says which is missing: the Makefile
// then runs npm ci. Presence only: a fresh clone, or a dependency added
// since the last install, needs one; versions are the lock file's business.
import fs from 'node:fs';

const pkg = JSON.parse(fs.readFileSync('package.json', 'utf8'));
const names = Object.keys({ ...pkg.dependencies, ...pkg.devDependencies });
const missing = names.filter((n) => !fs.existsSync(`node_modules/${n}/package.json`));
if (missing.length > 0) {
  console.log(`node_modules lacks ${missing.join(', ')}: installing (npm ci)`);
  process.exit(1);
}
