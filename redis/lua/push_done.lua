-- A push entry dealt with (sent, or dead-lettered): acknowledged and deleted from the push stream at once, so the
-- stream keeps only work not done yet.
--
-- KEYS[1]  the push work stream   alimi:push:{q}
-- KEYS[2]  what the entry reached alimi:push:{q}:sent:<entry id>
-- ARGV[1]  the consumer group     ARGV[2] the entry id
-- Returns the number of entries deleted (0 if it was gone already).
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
redis.call('DEL', KEYS[2])
return redis.call('XDEL', KEYS[1], ARGV[2])
