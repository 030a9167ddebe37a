mod cluster;
mod figure8;
mod schedules;
