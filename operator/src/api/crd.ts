/**
 * The CustomResourceDefinition of CommitLogCluster as a plain manifest object, built from the
 * types' constants and `schema.ts`. The cdk8s app wraps it in an ApiObject; tests and the
 * control-plane fixture read the synthesized YAML under `crds/`.
 */
import { GROUP, KIND, PLURAL, SHORT_NAME, VERSION } from './types.js';
import { openApiSchema } from './schema.js';

/** Name of the CRD object: `<plural>.<group>`. */
export const CRD_NAME = `${PLURAL}.${GROUP}`;

/** Returns the CRD manifest (apiextensions.k8s.io/v1). Pure and deterministic. */
export function crdManifest(): Record<string, unknown> {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: {
      name: CRD_NAME,
      labels: { 'app.kubernetes.io/name': 'commitlog-operator', 'app.kubernetes.io/part-of': 'commitlog' },
    },
    spec: {
      group: GROUP,
      scope: 'Namespaced',
      names: {
        kind: KIND,
        listKind: `${KIND}List`,
        plural: PLURAL,
        singular: KIND.toLowerCase(),
        shortNames: [SHORT_NAME],
        categories: ['commitlog'],
      },
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          schema: { openAPIV3Schema: openApiSchema },
          subresources: {
            status: {},
            scale: {
              specReplicasPath: '.spec.replicas',
              statusReplicasPath: '.status.replicas',
              labelSelectorPath: '.status.selector',
            },
          },
          additionalPrinterColumns: [
            { name: 'Replicas', type: 'integer', jsonPath: '.spec.replicas', description: 'Desired Raft members' },
            { name: 'Ready', type: 'integer', jsonPath: '.status.readyReplicas', description: 'Ready members' },
            { name: 'Leader', type: 'string', jsonPath: '.status.leader', description: 'Current Raft leader pod' },
            { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
            { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
          ],
        },
      ],
    },
  };
}
