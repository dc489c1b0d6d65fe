-- sqlite_workload.sql - run by tests/integration/real_sqlite.sh with the
-- sqlite3 shell, with and without libmemscope_malloc preloaded. Every
-- query has an ORDER BY, so the output is a function of the data only.
.bail on
.headers on
.mode list
PRAGMA cache_size = -20000;

CREATE TABLE items(
    id    INTEGER PRIMARY KEY,
    grp   INTEGER NOT NULL,
    name  TEXT NOT NULL,
    price REAL NOT NULL,
    blob  BLOB
);
WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < 100000)
INSERT INTO items(id, grp, name, price, blob)
SELECT n,
       (n * 7919) % 97,
       printf('item-%06d-%s', n, substr('abcdefghijklmnopqrstuvwxyz', 1 + n % 26, 1 + n % 7)),
       ((n * 2654435761) % 100000) / 100.0,
       CASE WHEN n % 10 = 0 THEN zeroblob(64 + n % 500) END
FROM seq;

CREATE TABLE groups(grp INTEGER PRIMARY KEY, label TEXT NOT NULL, weight INTEGER);
WITH RECURSIVE g(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM g WHERE n < 96)
INSERT INTO groups SELECT n, 'group-' || hex(n * 31), n % 5 FROM g;

CREATE INDEX items_grp_price ON items(grp, price);
CREATE INDEX items_name ON items(name);

SELECT count(*), sum(price), min(name), max(name), total(length(blob)) FROM items;

SELECT grp, count(*) AS n, round(avg(price), 4) AS avg_price,
       min(price), max(price), sum(id) % 1000003 AS idsum
FROM items GROUP BY grp ORDER BY grp;

SELECT g.label, g.weight, count(i.id) AS n, round(sum(i.price * g.weight), 2) AS weighted
FROM groups g JOIN items i ON i.grp = g.grp
WHERE i.price BETWEEN 100 AND 600
GROUP BY g.grp HAVING n > 10 ORDER BY weighted DESC, g.label LIMIT 40;

SELECT a.grp, count(*), round(sum(b.price), 2), max(a.name || '/' || b.name)
FROM items a JOIN items b ON b.id = (a.id * 31) % 100000 + 1 AND b.grp < a.grp
GROUP BY a.grp ORDER BY a.grp LIMIT 30;

SELECT g.label, b.grp, count(*)
FROM items a
JOIN groups g ON g.grp = a.grp AND g.weight = 1
JOIN items b ON b.name = printf('item-%06d-%s', a.id + 1, substr('abcdefghijklmnopqrstuvwxyz', 1 + (a.id + 1) % 26, 1 + (a.id + 1) % 7))
GROUP BY g.label, b.grp ORDER BY 3 DESC, 1, 2 LIMIT 25;

SELECT substr(name, 13) AS suffix, count(*), group_concat(id % 10, '')
FROM (SELECT name, id FROM items WHERE id % 997 = 1 ORDER BY id)
GROUP BY suffix ORDER BY suffix;

SELECT grp, id, price, rank
FROM (SELECT grp, id, price,
             row_number() OVER (PARTITION BY grp ORDER BY price DESC, id) AS rank
      FROM items)
WHERE rank <= 3 ORDER BY grp, rank;

UPDATE items SET name = upper(name), price = price * 1.5 WHERE id % 3 = 0;
DELETE FROM items WHERE id % 5 = 0;
SELECT count(*), round(sum(price), 2), count(DISTINCT substr(name, 1, 6)) FROM items;

SELECT name FROM items WHERE name LIKE 'ITEM-0123%' ORDER BY name;

CREATE TEMP TABLE words AS
WITH RECURSIVE w(n, s) AS (
    SELECT 1, 'x'
    UNION ALL
    SELECT n + 1, substr(s || printf('%x', n * n), -200) FROM w WHERE n < 20000)
SELECT n, s FROM w;
SELECT count(*), sum(length(s)), max(s) FROM words;
SELECT length(group_concat(s, ',')) FROM (SELECT s FROM words ORDER BY s DESC);

.sha3sum
PRAGMA integrity_check;
