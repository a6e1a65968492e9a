-- Each local hour's norm for one force and day ($force, $date): the median devices and files of that hour over
-- the $norm_days days before, counting the days that hour reported (feed_hours rows).
SELECT
    local_hour,
    median(devices) AS devices,
    median(files) AS files,
    count(*) AS days
FROM feed_hours
WHERE force = $force AND date < $date AND date >= $date::DATE - $norm_days::INTEGER
GROUP BY local_hour
