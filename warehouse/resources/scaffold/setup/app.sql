-- The example source: an OLTP table of sensor readings. `warehouse up` runs every setup/<database>.sql once,
-- when it creates the database <database> on the embedded store (drop the database to run it again).
-- Against your own database, declare its tables in models/sources.yml instead and delete this folder.
CREATE TABLE IF NOT EXISTS public.readings (
    reading_id  bigint PRIMARY KEY,
    device_id   bigint NOT NULL,
    temperature numeric(6, 2),
    read_at     timestamp(3) NOT NULL
);
ALTER TABLE public.readings REPLICA IDENTITY FULL;  -- deletes and updates carry the whole row
INSERT INTO public.readings VALUES
    (1, 10, 21.50, '2024-01-01 08:00:00'),
    (2, 10, 23.00, '2024-01-01 09:00:00'),
    (3, 11, 19.25, '2024-01-01 08:30:00'),
    (4, 10, 22.75, '2024-01-02 08:00:00')
ON CONFLICT (reading_id) DO NOTHING;
