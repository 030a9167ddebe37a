mod cluster;
mod schedules;
