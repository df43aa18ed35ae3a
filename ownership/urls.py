app_name = "ownership"

urlpatterns: list = []
