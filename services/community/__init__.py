"""community — 地域づくり事業: places, activities, volunteers, platforms, concerns passed on."""
