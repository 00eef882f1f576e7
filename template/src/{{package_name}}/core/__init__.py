"""Infrastructure owned by the template: refreshed by `copier update`."""
