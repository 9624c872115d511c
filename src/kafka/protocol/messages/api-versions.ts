import { api, array, field, message, struct } from '../schema.ts';

export const ApiVersions = api(
  message(18, 'ApiVersionsRequest', '0-4', '3+', [
    field('ClientSoftwareName', 'string', '3+'),
    field('ClientSoftwareVersion', 'string', '3+'),
  ]),
  message(18, 'ApiVersionsResponse', '0-4', '3+', [
    field('ErrorCode', 'int16', '0+'),
    field('ApiKeys', array(struct(field('ApiKey', 'int16', '0+'), field('MinVersion', 'int16', '0+'), field('MaxVersion', 'int16', '0+'))), '0+'),
    field('ThrottleTimeMs', 'int32', '1+'),
    field('SupportedFeatures', array(struct(field('Name', 'string', '3+'), field('MinVersion', 'int16', '3+'), field('MaxVersion', 'int16', '3+'))), '3+', { tag: 0, tagged: '3+' }),
    field('FinalizedFeaturesEpoch', 'int64', '3+', { tag: 1, tagged: '3+', default: -1 }),
    field('FinalizedFeatures', array(struct(field('Name', 'string', '3+'), field('MaxVersionLevel', 'int16', '3+'), field('MinVersionLevel', 'int16', '3+'))), '3+', { tag: 2, tagged: '3+' }),
    field('ZkMigrationReady', 'bool', '3+', { tag: 3, tagged: '3+' }),
  ]),
);
