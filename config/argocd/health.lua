-- Argo CD health of a kfed object (group federation.kfed.io), read from its status as kfed's
-- status conventions define it: status.observedGeneration, and the conditions Ready ("what the
-- user asked for is true now"), Reconciling (converging) and Stalled (cannot go on without a
-- change). Every kfed kind has that status shape, so one script serves them all.
-- It uses only Lua's base and table libraries: what Argo CD opens for checks set in argocd-cm.

-- Reasons of Ready=False that need someone to act (api/v1alpha1); any other reason is progress.
local failureReasons = {
  -- FederatedCluster
  ProbeFailed = true,
  Unauthorized = true,
  CertificateInvalid = true,
  CredentialsInvalid = true,
  SecretNotFound = true,
  -- federated kinds
  PropagationFailed = true,
  Invalid = true,
  Forbidden = true,
  KindNotServed = true,
  OverrideFailed = true,
  ClusterScoped = true,
  SourceNotFound = true,
  DeletionBlocked = true,
  -- DNS (FederatedService, FederatedDomain)
  RecordConflict = true,
  DomainNotFound = true,
  ProviderFailed = true,
  ProviderUnreachable = true,
  ZoneNotFound = true,
  UpdateRefused = true,
  CRDMissing = true,
  ListenFailed = true,
  ProviderNotBuilt = true,
  ProviderError = true,
  -- global address (FederatedIngress)
  StrategyNotSupported = true,
}

local function findCondition(conditions, conditionType)
  if type(conditions) ~= "table" then
    return nil
  end
  for _, c in ipairs(conditions) do
    if type(c) == "table" and c.type == conditionType then
      return c
    end
  end
  return nil
end

-- describe says what a condition says, in its own words when it has them.
local function describe(c)
  if c.message ~= nil and c.message ~= "" then
    return c.message
  end
  if c.reason ~= nil and c.reason ~= "" then
    return c.reason
  end
  return c.type .. " is " .. tostring(c.status)
end

local hs = { status = "Progressing", message = "" }

local status = obj.status
if type(status) ~= "table" then
  hs.message = "Waiting for kfed to report the status"
  return hs
end

local generation = 0
if obj.metadata ~= nil and tonumber(obj.metadata.generation) ~= nil then
  generation = tonumber(obj.metadata.generation)
end
local observed = tonumber(status.observedGeneration) or 0
if observed < generation then
  hs.message = "Waiting for kfed to observe generation " .. tostring(generation) ..
    " (the status describes generation " .. tostring(observed) .. ")"
  return hs
end

local stalled = findCondition(status.conditions, "Stalled")
if stalled ~= nil and stalled.status == "True" then
  hs.status = "Degraded"
  hs.message = describe(stalled)
  return hs
end

local reconciling = findCondition(status.conditions, "Reconciling")
if reconciling ~= nil and reconciling.status == "True" then
  hs.message = describe(reconciling)
  return hs
end

local ready = findCondition(status.conditions, "Ready")
if ready == nil then
  hs.message = "Waiting for the Ready condition"
  return hs
end
if ready.status == "True" then
  hs.status = "Healthy"
elseif ready.status == "False" and failureReasons[ready.reason] then
  hs.status = "Degraded"
end
hs.message = describe(ready)
return hs
