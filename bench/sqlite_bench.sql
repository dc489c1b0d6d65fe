-- sqlite_bench.sql - the sqlite3 workload of `make bench`: inserts with
-- an index, then queries (aggregates, a join, a sort, a window function),
-- an update and a delete, in an in-memory database. The driver runs
--   /usr/bin/sqlite3 -batch :memory: < bench/sqlite_bench.sql
-- and scales the row count by replacing ROWS (QUICK=1 uses fewer rows).
.bail on
PRAGMA cache_size = -20000;
CREATE TABLE items(id INTEGER PRIMARY KEY, grp INTEGER NOT NULL,
                   name TEXT NOT NULL, price REAL NOT NULL, note TEXT);
CREATE INDEX items_grp ON items(grp, price);
BEGIN;
WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < ROWS)
INSERT INTO items(id, grp, name, price, note)
SELECT n, (n * 7919) % 97,
       printf('item-%07d-%s', (n * 2654435761) % 10000000, substr('abcdefghij', 1 + n % 10, 1 + n % 5)),
       ((n * 40503) % 100000) / 100.0,
       CASE WHEN n % 4 = 0 THEN printf('%.*c', 20 + n % 200, 'x') END
FROM seq;
COMMIT;
CREATE INDEX items_name ON items(name);
SELECT count(*), round(sum(price), 2), min(name), max(name) FROM items;
SELECT grp, count(*), round(avg(price), 3) FROM items GROUP BY grp ORDER BY grp LIMIT 5;
SELECT count(*) FROM items a JOIN items b ON b.id = (a.id * 31) % ROWS + 1 WHERE a.grp = b.grp % 97;
SELECT name FROM items ORDER BY name DESC LIMIT 3;
SELECT count(*) FROM (SELECT grp, row_number() OVER (PARTITION BY grp ORDER BY price DESC) AS r FROM items) WHERE r <= 10;
SELECT count(*), count(DISTINCT substr(name, 1, 9)) FROM items WHERE name LIKE 'item-00%';
UPDATE items SET name = upper(name), price = price * 1.1 WHERE id % 3 = 0;
DELETE FROM items WHERE id % 5 = 0;
SELECT count(*), round(sum(price), 2), group_concat(DISTINCT grp % 7) FROM items;
