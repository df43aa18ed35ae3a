from django.contrib import admin

from crm.admin import ReadOnlyAdmin

from .models import CommissionHold, Order, Payment, SaleEvent, SalesSettings, TierChange


@admin.register(Order)
class OrderAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "customer", "salesperson", "amount", "paid_amount", "status", "confirmed_on")
    list_filter = ("status",)
    search_fields = ("customer__name", "description")
    date_hierarchy = "created_at"
    list_select_related = ("customer", "salesperson")
    raw_id_fields = ("customer", "salesperson")


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdmin):
    list_display = ("received_on", "order", "amount", "confirmed_by", "reversed_at")
    search_fields = ("order__customer__name",)
    date_hierarchy = "received_on"
    list_select_related = ("order__customer", "confirmed_by")
    raw_id_fields = ("order", "confirmed_by")


@admin.register(SaleEvent)
class SaleEventAdmin(ReadOnlyAdmin):
    list_display = ("at", "customer", "kind", "amount", "actor")
    list_filter = ("kind",)
    search_fields = ("customer__name",)
    date_hierarchy = "at"
    list_select_related = ("customer", "actor")


@admin.register(TierChange)
class TierChangeAdmin(ReadOnlyAdmin):
    list_display = ("at", "customer", "old_tier", "new_tier", "cause")
    list_filter = ("cause", "new_tier")
    search_fields = ("customer__name",)
    date_hierarchy = "at"
    list_select_related = ("customer",)


@admin.register(CommissionHold)
class CommissionHoldAdmin(ReadOnlyAdmin):
    list_display = ("set_at", "salesperson", "source", "reason", "released_at")
    list_filter = ("source",)
    list_select_related = ("salesperson",)


@admin.register(SalesSettings)
class SalesSettingsAdmin(ReadOnlyAdmin):
    pass
