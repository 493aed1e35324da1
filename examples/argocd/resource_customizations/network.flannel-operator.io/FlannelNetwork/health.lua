-- Argo CD health of a flannel-operator FlannelNetwork (network.flannel-operator.io/v1alpha1).
-- The controller writes status.observedGeneration and the conditions Ready, Reconciling and
-- Degraded, each with observedGeneration (src/controller/status.ts). Degraded=True needs a user's
-- action: invalid spec, overlapping networks, exhausted network, conflicting leases.
-- Written for Argo CD's default Lua libraries (base and table: no string or math library).
local hs = { status = "Progressing", message = "Waiting for the flannel-operator controller" }

local function text(v)
  if v == nil then
    return ""
  end
  return tostring(v)
end

-- "Reason: message", or whichever of the two is set.
local function describe(c)
  local reason, message = text(c.reason), text(c.message)
  if reason ~= "" and message ~= "" then
    return reason .. ": " .. message
  end
  if message ~= "" then
    return message
  end
  return reason
end

local status = obj.status
if type(status) ~= "table" then
  return hs
end

local generation = tonumber(obj.metadata and obj.metadata.generation)
local observed = tonumber(status.observedGeneration)
if generation ~= nil and (observed == nil or observed < generation) then
  hs.message = "Waiting for the controller to observe generation " .. text(generation)
  return hs
end

local cond = {}
if type(status.conditions) == "table" then
  for _, c in ipairs(status.conditions) do
    if type(c) == "table" and type(c.type) == "string" then
      cond[c.type] = c
    end
  end
end

if cond.Degraded ~= nil and cond.Degraded.status == "True" then
  hs.status = "Degraded"
  hs.message = describe(cond.Degraded)
elseif cond.Ready ~= nil and cond.Ready.status == "True" then
  hs.status = "Healthy"
  hs.message = text(cond.Ready.message)
elseif cond.Reconciling ~= nil and cond.Reconciling.status == "True" then
  hs.message = describe(cond.Reconciling)
elseif cond.Ready ~= nil then
  hs.message = describe(cond.Ready)
end
return hs
