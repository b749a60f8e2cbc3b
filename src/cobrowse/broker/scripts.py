"""The Redis broker's Lua scripts: each runs atomically in Redis, so no node sees a half-done change.

Redis runs one script at a time, which is what makes a log reset, a claim that may be repeated by its holder,
a compare-and-delete and a home claim that depends on another node's heartbeat atomic. Every key a script
takes in ``KEYS`` is one session's (or one claim's); ``CLAIM_HOME`` and ``HOME_OF`` also read the heartbeat
of the node they find, by a name built inside the script, which Redis Cluster does not allow (see
docs/scaling.md).
"""

from __future__ import annotations

#: KEYS[1] the session's log stream; ARGV: reset (1/0), seq, frame, max entries, ttl in ms, and optionally a
#: channel and a message header: the frame is then also PUBLISHed (header then frame), after it was logged.
#: A reset (a snapshot) deletes what came before in the same step, so a reader sees the old log or the new.
#: One call for both sends the frame's bytes to Redis once (see redis_writer).
LOG_APPEND = """
if ARGV[1] == '1' then
  redis.call('DEL', KEYS[1])
end
redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[4], '*', 's', ARGV[2], 'f', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
if ARGV[6] then
  redis.call('PUBLISH', ARGV[6], ARGV[7] .. ARGV[3])
end
return 1
"""

#: KEYS[1] the claim; ARGV[1] the holder. 1 if it is (now) the holder's, 0 if another holder has it.
CLAIM_KEY = """
local holder = redis.call('GET', KEYS[1])
if not holder then
  redis.call('SET', KEYS[1], ARGV[1])
  return 1
end
if holder == ARGV[1] then
  return 1
end
return 0
"""

#: KEYS[1] a claim or a home; ARGV[1] who must hold it for it to be deleted. 1 if deleted.
COMPARE_AND_DELETE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""

#: KEYS[1] the session's home; ARGV[1] the claiming node, ARGV[2] the name prefix of node heartbeats.
#: The home stays where it is while that node's heartbeat lasts; otherwise the claiming node takes it.
CLAIM_HOME = """
local home = redis.call('GET', KEYS[1])
if home and (home == ARGV[1] or redis.call('EXISTS', ARGV[2] .. home) == 1) then
  return home
end
redis.call('SET', KEYS[1], ARGV[1])
return ARGV[1]
"""

#: KEYS[1] the session's home; ARGV[1] the name prefix of node heartbeats. The home if its node is alive.
HOME_OF = """
local home = redis.call('GET', KEYS[1])
if home and redis.call('EXISTS', ARGV[1] .. home) == 1 then
  return home
end
return false
"""
