-- Argo CD health of a flannel-operator SubnetLease (network.flannel-operator.io/v1alpha1), shown as
-- a child of its FlannelNetwork. The controller writes the spec (node, subnets) and the conditions
-- BackendRejected (hostile or conflicting backend data: peers ignore the lease) and SubnetConflict
-- (src/controller/controller.ts); the node's agent writes observedGeneration, public IP, backend data
-- and the conditions Ready (False with the failure's reason) and ForwardingBlocked (src/agent/agent.ts).
-- Written for Argo CD's default Lua libraries (base and table: no string or math library).
local function text(v)
  if v == nil then
    return ""
  end
  return tostring(v)
end

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

local node = "its node"
if type(obj.spec) == "table" and type(obj.spec.nodeName) == "string" then
  node = "node " .. obj.spec.nodeName
end
local hs = { status = "Progressing", message = "Waiting for the agent on " .. node }

local status = obj.status
if type(status) ~= "table" then
  return hs
end

local generation = tonumber(obj.metadata and obj.metadata.generation)
local observed = tonumber(status.observedGeneration)
if generation ~= nil and (observed == nil or observed < generation) then
  hs.message = "Waiting for the agent on " .. node .. " to observe generation " .. text(generation)
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

-- Problems first: the controller's verdicts, then the agent's; Degraded is what older agents wrote.
for _, t in ipairs({ "BackendRejected", "SubnetConflict" }) do
  if cond[t] ~= nil and cond[t].status == "True" then
    hs.status = "Degraded"
    hs.message = t .. ": " .. describe(cond[t])
    return hs
  end
end
if cond.Ready ~= nil and cond.Ready.status == "False" then
  hs.status = "Degraded"
  hs.message = describe(cond.Ready)
  return hs
end
for _, t in ipairs({ "ForwardingBlocked", "Degraded" }) do
  if cond[t] ~= nil and cond[t].status == "True" then
    hs.status = "Degraded"
    hs.message = t .. ": " .. describe(cond[t])
    return hs
  end
end
if cond.Ready ~= nil and cond.Ready.status == "True" then
  hs.status = "Healthy"
  hs.message = text(cond.Ready.message)
elseif cond.Ready ~= nil then
  hs.message = describe(cond.Ready)
end
return hs
