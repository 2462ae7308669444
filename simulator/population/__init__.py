"""The synthetic city: residents, 世帯 (households), names, ages and wards, deterministic from seed and scale."""
