/**
 * The install manifests (dist/install.yaml) as a cdk8s chart built with cdk8s-plus-27:
 * namespace, service account, least-privilege RBAC and the operator Deployment.
 *
 * Where cdk8s-plus-27 fits (Namespace, ServiceAccount, ClusterRole, Role, bindings,
 * Deployment) it is used; see `OPERATOR_*` for the values the Helm chart mirrors.
 */
import { ApiObject, Chart, Duration, JsonPatch, Size, type App } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import { CLUSTER_RULES, LEADER_ELECTION_RULES, type Rule } from './rbac.js';

/** Defaults shared by dist/install.yaml and the Helm chart's values.yaml. */
export const OPERATOR = {
  name: 'commitlog-operator',
  namespace: 'commitlog-system',
  image: 'ghcr.io/commitlog/commitlog-operator:0.1.0',
  httpPort: 8080,
  leaseName: 'commitlog-operator-leader',
  resources: { cpuRequest: 100, cpuLimit: 500, memoryRequestMi: 128, memoryLimitMi: 256 },
} as const;

/** Labels on every install object and the operator pod. */
export const OPERATOR_LABELS = {
  'app.kubernetes.io/name': OPERATOR.name,
  'app.kubernetes.io/part-of': 'commitlog',
  'app.kubernetes.io/component': 'operator',
} as const;

function endpoints(rule: Rule): kplus.IApiEndpoint[] {
  return rule.apiGroups.flatMap((apiGroup) =>
    rule.resources.map((resourceType) => kplus.ApiResource.custom({ apiGroup, resourceType })),
  );
}

/** Builds the install chart into `app`. */
export function installChart(app: App): Chart {
  const chart = new Chart(app, 'install', { labels: { ...OPERATOR_LABELS } });
  const ns = new kplus.Namespace(chart, 'namespace', { metadata: { name: OPERATOR.namespace } });
  const metadata = { namespace: OPERATOR.namespace };
  const sa = new kplus.ServiceAccount(chart, 'sa', {
    metadata: { ...metadata, name: OPERATOR.name },
    automountToken: true,
  });
  sa.node.addDependency(ns);

  const clusterRole = new kplus.ClusterRole(chart, 'cluster-role', { metadata: { name: OPERATOR.name } });
  for (const r of CLUSTER_RULES) clusterRole.allow([...r.verbs], ...endpoints(r));
  const crb = new kplus.ClusterRoleBinding(chart, 'cluster-role-binding', {
    metadata: { name: OPERATOR.name },
    role: clusterRole,
  });
  crb.addSubjects(sa);

  const role = new kplus.Role(chart, 'leader-election-role', {
    metadata: { ...metadata, name: `${OPERATOR.name}-leader-election` },
  });
  for (const r of LEADER_ELECTION_RULES) {
    role.allow(
      [...r.verbs],
      ...r.apiGroups.flatMap((apiGroup) =>
        r.resources.map((resourceType) => kplus.ApiResource.custom({ apiGroup, resourceType })),
      ),
    );
  }
  const rb = new kplus.RoleBinding(chart, 'leader-election-binding', {
    metadata: { ...metadata, name: `${OPERATOR.name}-leader-election` },
    role,
  });
  rb.addSubjects(sa);

  const deployment = new kplus.Deployment(chart, 'deployment', {
    metadata: { ...metadata, name: OPERATOR.name },
    replicas: 1,
    serviceAccount: sa,
    automountServiceAccountToken: true,
    podMetadata: { labels: { ...OPERATOR_LABELS } },
    select: false,
    securityContext: { ensureNonRoot: true, user: 65532, group: 65532 },
    terminationGracePeriod: Duration.seconds(30),
    containers: [
      {
        name: 'operator',
        image: OPERATOR.image,
        imagePullPolicy: kplus.ImagePullPolicy.IF_NOT_PRESENT,
        args: ['--http-port', String(OPERATOR.httpPort), '--leader-elect', '--lease-name', OPERATOR.leaseName],
        envVariables: {
          WATCH_NAMESPACES: kplus.EnvValue.fromValue(''),
          POD_NAME: kplus.EnvValue.fromFieldRef(kplus.EnvFieldPaths.POD_NAME),
          POD_NAMESPACE: kplus.EnvValue.fromFieldRef(kplus.EnvFieldPaths.POD_NAMESPACE),
        },
        ports: [{ name: 'http', number: OPERATOR.httpPort }],
        liveness: kplus.Probe.fromHttpGet('/healthz', { port: OPERATOR.httpPort, periodSeconds: Duration.seconds(10) }),
        readiness: kplus.Probe.fromHttpGet('/readyz', { port: OPERATOR.httpPort, periodSeconds: Duration.seconds(5) }),
        resources: {
          cpu: {
            request: kplus.Cpu.millis(OPERATOR.resources.cpuRequest),
            limit: kplus.Cpu.millis(OPERATOR.resources.cpuLimit),
          },
          memory: {
            request: Size.mebibytes(OPERATOR.resources.memoryRequestMi),
            limit: Size.mebibytes(OPERATOR.resources.memoryLimitMi),
          },
        },
        securityContext: {
          ensureNonRoot: true,
          readOnlyRootFilesystem: true,
          allowPrivilegeEscalation: false,
          user: 65532,
          group: 65532,
        },
      },
    ],
  });
  deployment.select(kplus.LabelSelector.of({ labels: { 'app.kubernetes.io/name': OPERATOR.name } }));
  deployment.node.addDependency(sa);
  // cdk8s-plus-27 has no way to say "drop all capabilities" or set a seccomp profile, so
  // the restricted Pod Security settings are added as JSON patches on the rendered object.
  const api = ApiObject.of(deployment);
  api.addJsonPatch(
    JsonPatch.add('/spec/template/spec/containers/0/securityContext/capabilities', { drop: ['ALL'] }),
    JsonPatch.add('/spec/template/spec/securityContext/seccompProfile', { type: 'RuntimeDefault' }),
    // cdk8s-plus adds an internal address label to the pod template; the Helm chart has no
    // such label, and both must render the same Deployment.
    JsonPatch.remove('/spec/template/metadata/labels/cdk8s.io~1metadata.addr'),
  );
  return chart;
}
