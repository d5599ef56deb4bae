/** okta-relay's CDK construct: Okta System Log and directory data into AWS and on to a SIEM. */
export { OktaRelay } from './okta-relay';
export {
  OktaRelayConfigurationStore,
  OktaRelayFirehose,
  OktaRelayFirehoseSiem,
  OktaRelayOrg,
  OktaRelayProps,
  OktaRelayProviderRoles,
  OktaRelaySecurityLake,
} from './props';
export {
  OktaRelayEventTypes,
  OktaRelayInventory,
  OktaRelayInventoryStream,
  OktaRelayLakeBuffer,
  OktaRelayLogStream,
  OktaRelayOldEvents,
  OktaRelayOutput,
  OktaRelayPush,
  OktaRelaySink,
  OktaRelayTuning,
  OrgSettings,
} from './settings';
