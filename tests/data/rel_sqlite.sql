-- rel_sqlite.sql - run by tests/integration/rel_real_sqlite.sh through
-- `memscope run` and plainly; the script sets @rows first (.parameter).
-- Every query orders its output, so the output is a function of the data.
.bail on
.headers on
.mode list
PRAGMA cache_size = -20000;
CREATE TABLE t(id INTEGER PRIMARY KEY, grp INTEGER NOT NULL, name TEXT NOT NULL,
               price REAL NOT NULL, note TEXT);
WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < @rows)
INSERT INTO t(id, grp, name, price, note)
SELECT n, (n * 7919) % 1009,
       printf('row-%07d-%s', n, substr('abcdefghijklmnopqrstuvwxyz', 1 + n % 26, 1 + n % 9)),
       ((n * 2654435761) % 1000000) / 100.0,
       CASE WHEN n % 7 = 0 THEN printf('%0*d', 20 + n % 200, n) END
FROM seq;
SELECT count(*), sum(grp), round(sum(price), 2), count(note), max(length(note)) FROM t;
CREATE INDEX t_grp_price ON t(grp, price);
CREATE INDEX t_name ON t(name);
SELECT grp, count(*) AS n, round(avg(price), 4) AS avg_price, min(name), max(name)
FROM t GROUP BY grp ORDER BY n DESC, grp LIMIT 20;
SELECT id, name, price FROM t WHERE grp = 42 ORDER BY price DESC, id LIMIT 10;
SELECT name FROM t WHERE name LIKE 'row-00077%' ORDER BY name;
UPDATE t SET price = price * 1.5, note = coalesce(note, '') || 'x' WHERE id % 13 = 0;
DELETE FROM t WHERE id % 17 = 0;
SELECT count(*), round(sum(price), 2), sum(length(note)) FROM t;
SELECT a.grp, count(*) FROM t AS a JOIN t AS b ON b.id = a.id + 1 AND b.grp = a.grp
GROUP BY a.grp ORDER BY 2 DESC, 1 LIMIT 5;
SELECT grp, id, rank() OVER (PARTITION BY grp ORDER BY price DESC, id) AS r
FROM t WHERE grp < 3 ORDER BY grp, r, id LIMIT 15;
SELECT group_concat(name, ',') FROM (SELECT name FROM t ORDER BY price, id LIMIT 50);
PRAGMA integrity_check;
